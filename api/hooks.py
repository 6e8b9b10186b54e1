"""Inbound webhooks from incident tools: `POST /v1/hooks/{source}` (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/hooks")
