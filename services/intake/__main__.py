from shared.runtime import serve

from .main import create_app
from .settings import IntakeSettings

settings = IntakeSettings()
serve(create_app(settings), settings)
