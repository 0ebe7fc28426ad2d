"""The offline library: guide packs (verify, install, rollback), rendering, search, pages."""
