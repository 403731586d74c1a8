"""The FlexGrid Pricing API service (Connexion 3 app, adapters, rendering)."""
