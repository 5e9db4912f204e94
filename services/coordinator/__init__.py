"""Coordinator: the read model of every case (timeline and plan) built from every *.events topic."""
