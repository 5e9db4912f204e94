from shared.runtime import serve

from .main import create_app
from .settings import TransportSettings

settings = TransportSettings()
serve(create_app(settings), settings)
