"""The FlexGrid Pricing API service: the shared core (``core/``) and the Connexion app, pages and launcher."""
