"""End-to-end tests in network namespaces: a whole hotspot on one kernel (needs root).

    sudo .venv/bin/pytest tests/integration      # or: pytest -m netns

They skip, saying why, only without root or without `ip netns`.
"""
