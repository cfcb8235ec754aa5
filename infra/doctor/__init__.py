"""`make doctor`: what a stack needs of its cluster, checked before a first `pulumi up`."""
