/*
 * Copyright (c) 2026 The forgejo-mcp-broker developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */


/*
 * Routing of parsed requests in the http process, and the endpoints
 * that need no more than a round trip to another process.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd.h"
#include "log.h"
#include "proc.h"

#define HEALTH_BIT(id)	(1 << (id))

static void	 http_healthz(struct conn *);
static void	 http_health_timeout(int, short, void *);
static void	 http_health_answer(enum proc_id, struct conn *, struct imsg *);

void
http_route(struct conn *c)
{
	const char	*path = c->req.path;

	if (strcmp(path, "/healthz") == 0) {
		if (c->req.method != HTTP_METHOD_GET &&
		    c->req.method != HTTP_METHOD_HEAD) {
			conn_respond(c, 405, "text/plain", "", 0,
			    "Allow: GET, HEAD\r\n");
			return;
		}
		http_healthz(c);
		return;
	}
	if (mcp_route(c))
		return;
	if (oauth_route(c))
		return;
	conn_error(c, 404, "not found");
}

/* Answers from tokend and spawnd, for the connection that asked. */
void
http_answer(enum proc_id from, struct conn *c, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_HEALTH_OK:
	case IMSG_HEALTH_FAIL:
		http_health_answer(from, c, imsg);
		break;
	case IMSG_SESSION_READY:
		if (from != PROC_SPAWND)
			fatalx("%s: session from %s", __func__,
			    proc_name(from));
		mcp_session_ready(imsg);
		break;
	case IMSG_SESSION_FAIL:
		mcp_session_fail(imsg);
		break;
	case IMSG_SESSION_REPLACE:
		if (from != PROC_SPAWND)
			fatalx("%s: replacement from %s", __func__,
			    proc_name(from));
		mcp_session_replace(imsg);
		break;
	case IMSG_GRANT_REVOKED:
		if (from != PROC_TOKEND)
			fatalx("%s: revocation from %s", __func__,
			    proc_name(from));
		mcp_grant_revoked(imsg);
		break;
	case IMSG_GRANT_STALE:
		if (from != PROC_TOKEND)
			fatalx("%s: staleness from %s", __func__,
			    proc_name(from));
		mcp_grant_stale(imsg);
		break;
	case IMSG_SESSION_EXIT:
		if (from != PROC_SPAWND)
			fatalx("%s: session exit from %s", __func__,
			    proc_name(from));
		mcp_session_exit(imsg);
		break;
	default:
		if (oauth_answer(from, c, imsg))
			break;
		fatalx("%s: unexpected imsg %u from %s", __func__,
		    imsg_get_type(imsg), proc_name(from));
	}
}

void
http_conn_cleanup(struct conn *c)
{
	if (c->health != NULL) {
		evtimer_del(&c->health->ev_timer);
		free(c->health);
		c->health = NULL;
	}
	oauth_conn_cleanup(c);
	mcp_conn_cleanup(c);
}

/*
 * /healthz is healthy only if tokend answered a real database query and
 * spawnd answered too, both in time.
 */
static void
http_healthz(struct conn *c)
{
	struct timeval	 tv = { HEALTH_TIMEOUT, 0 };
	struct health	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		conn_error(c, 500, "out of memory");
		return;
	}
	c->health = h;
	h->pending = HEALTH_BIT(PROC_TOKEND) | HEALTH_BIT(PROC_SPAWND);
	if (imsg_compose_event(http_env.iev[PROC_TOKEND], IMSG_HEALTH_REQ,
	    c->id, -1, NULL, 0) == -1 ||
	    imsg_compose_event(http_env.iev[PROC_SPAWND], IMSG_HEALTH_REQ,
	    c->id, -1, NULL, 0) == -1)
		fatal("%s: imsg_compose", __func__);
	evtimer_set(&h->ev_timer, http_health_timeout, c);
	evtimer_add(&h->ev_timer, &tv);
}

static void
http_health_respond(struct conn *c)
{
	struct health	*h = c->health;
	json_t		*o, *down;
	char		*s;
	int		 status = 200;
	enum proc_id	 id;

	if ((down = json_array()) == NULL)
		fatal("%s", __func__);
	for (id = PROC_TOKEND; id <= PROC_SPAWND; id++)
		if ((h->pending | h->failed) & HEALTH_BIT(id)) {
			json_array_append_new(down,
			    json_string(proc_name(id)));
			status = 503;
		}
	if (status == 200)
		o = json_pack("{s:s, s:{s:s, s:I}, s:{s:s, s:I}}",
		    "status", "ok",
		    "tokend", "status", "ok", "schema_version",
		    (json_int_t)h->value[PROC_TOKEND],
		    "spawnd", "status", "ok", "children",
		    (json_int_t)h->value[PROC_SPAWND]);
	else
		o = json_pack("{s:s, s:O}", "status", "unavailable",
		    "unavailable", down);
	json_decref(down);
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("%s: json", __func__);
	json_decref(o);
	if (status != 200)
		log_warnx("healthz: %s", s);
	http_conn_cleanup(c);
	conn_respond(c, status, "application/json", s, strlen(s), NULL);
	free(s);
}

static void
http_health_timeout(int fd, short event, void *arg)
{
	http_health_respond(arg);
}

static void
http_health_answer(enum proc_id from, struct conn *c, struct imsg *imsg)
{
	struct health_ok	 ok;

	/* The connection may have gone, or answered on time-out already. */
	if (c == NULL || c->health == NULL)
		return;
	if (imsg_get_type(imsg) == IMSG_HEALTH_FAIL)
		c->health->failed |= HEALTH_BIT(from);
	else if (imsg_get_data(imsg, &ok, sizeof(ok)) == -1)
		fatalx("%s: bad IMSG_HEALTH_OK from %s", __func__,
		    proc_name(from));
	else
		c->health->value[from] = ok.value;
	c->health->pending &= ~HEALTH_BIT(from);
	if (c->health->pending == 0)
		http_health_respond(c);
}
