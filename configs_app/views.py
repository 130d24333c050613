"""Views: read the request, call selectors, choose the template. No HTTP, no business rules."""

from django.http import HttpResponse


def overview(request):
    return HttpResponse("ModelArts Config Dashboard")
