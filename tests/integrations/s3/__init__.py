"""Tests of the s3 integration: its SigV4 signer, and the type against moto's S3 server with IAM enforced."""
