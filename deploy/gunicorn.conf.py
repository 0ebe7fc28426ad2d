# Gunicorn settings for the portal on a Raspberry Pi; `portal serve` reads this file.
# The listening address comes from portal.toml, never from here.

# Two processes suit a Pi 4/5; threads absorb the slow phones of a busy evening.
workers = 2
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 10
keepalive = 2
# Recycle workers now and then so a slow leak never grows on a device left for months.
max_requests = 5000
max_requests_jitter = 500
# No access log: it would record every visitor's IP address and user agent.
accesslog = None
errorlog = "-"
loglevel = "warning"
# No runtime control socket: nothing but systemd should steer the server.
control_socket_disable = True
# Never trust forwarding headers: the portal is reached directly.
forwarded_allow_ips = ""
proxy_allow_ips = ""
