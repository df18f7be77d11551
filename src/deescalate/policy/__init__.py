"""Policy documents: parsing (`parse`), condition operators (`conditions`), evaluation (`evaluate`)."""
