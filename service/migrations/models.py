"""Every model module, imported so `Base.metadata` knows every table (Alembic and tests use it)."""

from service.auth import models as auth_models
from service.core.db import Base
from service.items import models as items_models
from service.users import models as users_models

__all__ = ["Base", "auth_models", "items_models", "users_models"]
