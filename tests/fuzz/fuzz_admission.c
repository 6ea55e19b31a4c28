/* libFuzzer target for the webhook's input side: AdmissionReview parsing, then the patch against a
 * recommendation, and the recommendation parser itself (the first input line) — none may crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rec_default[] =
	"{\"at\":1,\"containers\":[{\"name\":\"app\",\"requests\":{\"cpu\":\"300m\",\"memory\":"
	"\"200Mi\"}},{\"name\":\"side\",\"requests\":{\"cpu\":\"1\"}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct webhook_caps caps = { 4000, 8LL << 30 };
	struct webhook_request *req = NULL;
	struct webhook_rec *rec = NULL;
	char *uid = NULL, *resp = NULL, *ann = NULL;
	const char *nl = memchr(data, '\n', size);
	const char *body = (const char *)data;
	size_t len = size;
	cJSON *patch = NULL;
	char err[WEBHOOK_ERRBUF];

	/* "annotation\nreview": the part before the first newline is the owner's annotation when
	 * it looks like JSON, so both parsers and their combination get exercised. */
	if (nl && size > 0 && data[0] == '{') {
		ann = strndup((const char *)data, (size_t)(nl - (const char *)data));
		body = nl + 1;
		len = size - (size_t)(nl + 1 - (const char *)data);
		if (ann && webhook_rec_parse(ann, &rec, err) == 0) {
			char *text = NULL;
			if (webhook_rec_format(rec, &text) == 0)
				free(text);
			webhook_rec_free(rec);
		}
	}
	if (webhook_request_parse(body, len, &req, &uid, err) == 0) {
		if (webhook_decide(req, ann ? ann : rec_default, &caps, &patch, err) ==
		    WEBHOOK_RESULT_PATCHED) {
			(void)webhook_response(req->uid, patch, &resp);
			cJSON_Delete(patch);
		}
		if (req->object) {
			enum qos_class q;
			(void)webhook_pod_qos(req->object, &q);
		}
		webhook_request_free(req);
	} else
		(void)webhook_response(uid, NULL, &resp);
	free(resp);
	free(uid);
	free(ann);
	return 0;
}
