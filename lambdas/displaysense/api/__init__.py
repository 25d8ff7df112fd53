"""The REST API's service layer: request models, the metrics query, videos, uploads, A/B comparison.

`handlers/api.py` wires these to Powertools routes; nothing here knows about the Lambda event.
"""
