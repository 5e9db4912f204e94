from shared.runtime import serve

from .main import create_app
from .settings import AssignmentSettings

settings = AssignmentSettings()
serve(create_app(settings), settings)
