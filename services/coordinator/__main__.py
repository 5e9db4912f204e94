from shared.runtime import serve

from .main import create_app
from .settings import CoordinatorSettings

settings = CoordinatorSettings()
serve(create_app(settings), settings)
