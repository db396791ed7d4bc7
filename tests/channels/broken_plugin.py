"""A plug-in that forgot ``send``: the registry must refuse it."""


class HalfAdapter:
    kind = "broken"
    max_text_length = None

    def handshake(self, request, config):
        return None

    def verify(self, request, config):
        return None

    def parse(self, request, config):
        return []

    def fetch(self, cursor, config):
        return None


ADAPTER = HalfAdapter()
