"""The fake Kubernetes API server, split by concern (README.md beside this folder maps the modules)."""
