# P360 application image: gunicorn serving p360.wsgi.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system p360 && DJANGO_SECRET_KEY=collectstatic DATABASE_URL=postgresql://x@127.0.0.1/x \
    python manage.py collectstatic --noinput -v 0
USER p360
EXPOSE 8000
CMD ["gunicorn", "p360.wsgi"]
