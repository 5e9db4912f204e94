from shared.runtime import serve

from .main import create_app
from .settings import ResourceSettings

settings = ResourceSettings()
serve(create_app(settings), settings)
