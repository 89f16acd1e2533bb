from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from stories.models import StoryPage

from . import export, push


@require_GET
def story_ninjs(request, story_id):
    """A published story as ninjs 2.x, for partners' and aggregators' systems."""
    story = get_object_or_404(StoryPage.objects.live().public().specific(), pk=story_id)
    response = JsonResponse(export.story_to_ninjs(story, request), json_dumps_params={"ensure_ascii": False})
    patch_cache_control(response, public=True, max_age=60)
    response["Access-Control-Allow-Origin"] = "*"  # public data, read by partners' browser-based tools
    return response


@csrf_exempt
@require_POST
def push_ninjs(request):
    """POST /api/wire/ninjs: an agency delivers one ninjs item or a list, with its token."""
    try:
        token = push.authenticate(request.headers.get("Authorization"))
        limit = push.check_size(request.headers.get("Content-Length"))
        if request.content_type not in ("application/json", "application/ninjs+json"):
            raise push.Refusal(415, "send the ninjs as application/json")
        body = request.read(limit + 1)
        if len(body) > limit:
            raise push.Refusal(413, f"the body is larger than the {limit} bytes allowed")
        status, answer = push.receive(body, token)
    except push.Refusal as refusal:
        response = JsonResponse({"error": refusal.message, **refusal.extra}, status=refusal.status)
        if refusal.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="byline-wire"'
        return response
    return JsonResponse(answer, status=status, json_dumps_params={"ensure_ascii": False})
