"""The BentoML service that answers with the registry's champion."""
