"""One router per resource, each ``router = APIRouter(...)``, mounted by ``central.app``."""
