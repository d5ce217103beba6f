"""The domain and its storage, in pure Python: no Qt here (an import-linter contract says so)."""
