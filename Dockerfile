# Two images from one file:
#   docker build --target trainer -t keras-tabular-trainer .   # nightly retrain on a GPU
#   docker build --target server  -t keras-tabular-server  .   # the champion over HTTP
# Both install the exact versions in requirements.lock; base images are pinned by exact tag.

# ---------------------------------------------------------------------------------------------
# trainer: the environment only. The job runs on a checkout mounted at /app:
#   docker run --rm --gpus all --user "$(id -u):$(id -g)" -v "$PWD:/app" \
#     -e MLFLOW_TRACKING_URI keras-tabular-trainer [--pull]
# Why a mount and not COPY: `dvc repro` needs the git repository (.git, dvc.lock, the DVC
# cache), and what a retrain produces (dvc.lock, models/, reports/, data/, the DVC cache, and
# mlflow.db when no tracking server is set) must outlive the container, exactly as when
# `make retrain` runs in the checkout. A copy baked at build time would train yesterday's code
# and throw its results away. So the image carries no project files and .git stays out of the
# build context (.dockerignore).
FROM tensorflow/tensorflow:2.21.0-gpu AS trainer

# HOME=/tmp: the job runs as whatever --user owns the checkout, which has no home in the image;
# Keras, Matplotlib and DVC write their caches under HOME.
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    HOME=/tmp

# DVC, and the git commit the train stage tags on its MLflow run, need the git binary.
# Debian/Ubuntu archives drop superseded package versions, so an exact apt pin breaks the
# build within weeks; the base image tag is what pins the OS.
# safe.directory: git refuses a repository owned by another user than the one running it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory /app

# The lock pins tensorflow-cpu (what the CPU machines and CI use). Here the base image's GPU
# build of the same TensorFlow version must stay: installing tensorflow-cpu on top would
# shadow it and train on the CPU. Everything else comes from the lock, at its exact versions.
COPY requirements.lock /tmp/requirements.lock
RUN grep -v '^tensorflow-cpu==' /tmp/requirements.lock > /tmp/requirements.txt \
    && python -m pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.lock /tmp/requirements.txt

RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin trainer
USER 10001
WORKDIR /app
# Arguments after the image name go to the job, e.g. `--pull` to fetch new data first.
ENTRYPOINT ["python", "-m", "pipeline.retrain"]

# ---------------------------------------------------------------------------------------------
# server: the BentoML service for the registry's champion. It needs a tracking server that
# holds the registry and serves its artifacts (`mlflow server`):
#   docker run --rm -p 3000:3000 -e MLFLOW_TRACKING_URI=http://<mlflow-host>:5000 \
#     keras-tabular-server
FROM python:3.11.14-slim-bookworm AS server

# GIT_PYTHON_REFRESH=quiet: MLflow imports GitPython, and there is no git (or repository) here.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    GIT_PYTHON_REFRESH=quiet \
    HOME=/home/app

COPY requirements.lock /tmp/requirements.lock
RUN python -m pip install --no-cache-dir -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock \
    && useradd --uid 10001 --create-home --home-dir /home/app --shell /usr/sbin/nologin app

# The code stays owned by root: the service only reads it (BentoML writes under HOME).
WORKDIR /app
COPY params.yaml ./
COPY pipeline/ ./pipeline/
COPY serving/ ./serving/

USER 10001
EXPOSE 3000
# /readyz answers once the model is loaded (it hangs while loading, hence the timeout).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/readyz', timeout=4)"]
# Inside a container the service must listen on every interface; outside, it binds 127.0.0.1.
CMD ["python", "-m", "serving", "--host", "0.0.0.0", "--port", "3000"]
