from shared.runtime import serve

from .main import create_app
from .settings import AppointmentSettings

settings = AppointmentSettings()
serve(create_app(settings), settings)
