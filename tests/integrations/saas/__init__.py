"""Tests of the manifest-only SaaS types (github, gitlab, jira, slack, stripe) against local fake APIs."""
