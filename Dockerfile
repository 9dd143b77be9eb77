# The bot and the action server (Python 3.11). Rasa itself runs from rasa/rasa:3.6.21-full.
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/bizbot
COPY requirements/app.lock requirements/app.lock
RUN pip install --no-cache-dir -r requirements/app.lock
COPY pyproject.toml README.md ./
COPY bot bot
COPY rasa_project/actions rasa_project/actions
COPY seeds seeds
RUN pip install --no-cache-dir --no-deps -e . \
    && bizbot facts build \
    && useradd --system --uid 10001 bizbot && chown -R bizbot var
USER bizbot
EXPOSE 8080 5055
CMD ["bizbot", "serve"]
