"""lambdadev: local development of Go AWS Lambda functions packaged as container images."""

__version__ = "0.1.0"
