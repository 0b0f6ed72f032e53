"""Cards: key workers' Tide cards (Stripe Issuing), spending their wallets."""
