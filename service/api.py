"""The `/api/v1` router: includes every domain router, and nothing else imports them."""

from __future__ import annotations

from fastapi import APIRouter

from service.auth.router import router as auth_router
from service.core.openapi import AUTHENTICATED
from service.items.router import router as items_router
from service.orders.router import router as orders_router
from service.users.router import router as users_router

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(users_router)
api_router.include_router(auth_router)
api_router.include_router(items_router, responses=AUTHENTICATED)
api_router.include_router(orders_router, responses=AUTHENTICATED)
