from shared.runtime import serve

from .main import create_app
from .settings import NotificationSettings

settings = NotificationSettings()
serve(create_app(settings), settings)
