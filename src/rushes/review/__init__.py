"""Review: what a person looks at (contact sheets now; the web app later)."""
