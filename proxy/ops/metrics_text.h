/* metrics_text.h - GET /metrics: the counters of every thread (base/
 * metrics.h) and the state of the router, TLS, audit and process, in the
 * Prometheus text exposition format (version 0.0.4). */
#ifndef KG_OPS_METRICS_TEXT_H
#define KG_OPS_METRICS_TEXT_H

#include "loop/worker-t.h"
#include "ops/text.h"

void kg_metrics_text(struct kg_gateway *gw, struct kg_text *out);

#endif
