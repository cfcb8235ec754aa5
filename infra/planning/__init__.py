"""Pure decisions: functions of the validated StackConfig and the catalog, no Pulumi."""
