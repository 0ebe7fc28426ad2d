"""Onboarding: language choice, the lesson steps, and the grant that ends them."""
