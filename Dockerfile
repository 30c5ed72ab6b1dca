# The `lab` service of docker-compose.yml: JupyterLab with jwtlab installed.
FROM python:3.11-slim
# redis-cli, for a terminal beside the notebooks: redis-cli -h redis-primary
RUN apt-get update && apt-get install -y --no-install-recommends redis-tools \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home student
WORKDIR /home/student/jwtlab
COPY --chown=student pyproject.toml README.md ./
COPY --chown=student jwtlab ./jwtlab
RUN pip install --no-cache-dir '.[lab]'
# The instructor edition (solutions in place) is the source; students work in student/, written
# from it when the container starts (never overwriting a file already there, as `make student`).
COPY --chown=student notebooks ./notebooks
RUN mkdir student && chown student student
# the chat services' shared members file lives in a volume mounted here (docker-compose.yml)
RUN mkdir /home/student/members && chown student /home/student/members
USER student
EXPOSE 8888
CMD ["sh", "-c", "python -m jwtlab.editions student --source notebooks --target student && exec jupyter lab --ip=0.0.0.0 --port=8888 --no-browser --notebook-dir=student"]
