"""Domain code shared by the hospital node and the consortium coordinator.

Subpackages: ``phantoms`` (synthetic DICOM with ground truth), ``agreement``
(inter-reader metrics on summable statistics) and ``consensus`` (majority and
STAPLE). Nothing here imports a web or a Flower framework.
"""

from shared.errors import ConfigurationError, HarmoniaError, InvalidInputError

__all__ = ["ConfigurationError", "HarmoniaError", "InvalidInputError"]
