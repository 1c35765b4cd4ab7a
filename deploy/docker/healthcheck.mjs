// The image's HEALTHCHECK (slim images have no curl): healthy when this container's api (PORT,
// default 4000) or worker (WORKER_PORT, default 9465) answers GET /health with 2xx. One image runs
// either process, and each container has its own loopback, so whichever answers is this one.
const ports = [process.env.PORT || '4000', process.env.WORKER_PORT || '9465'];
const probe = (port) =>
  fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) }).then((res) => {
    if (!res.ok) throw new Error(`${port}: HTTP ${res.status}`);
  });
Promise.any(ports.map(probe)).then(
  () => process.exit(0),
  () => process.exit(1),
);
