# The Python echo handler run by awslambdaric in the runtime benchmark (a peer, not product code).
def handler(event, context):
    return event
