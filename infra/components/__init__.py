"""One ComponentResource per file; each only turns planned decisions into resources."""
