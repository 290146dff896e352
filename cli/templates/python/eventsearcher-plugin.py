"""{{name}}: an eventsearcher-plugin, answering SFTPGo's event searches.
Finds nothing until written: `events` is a JSON array, each event with an
`id`.
"""

from wit_world import exports
from wit_world.exports import eventsearcher


def nothing() -> eventsearcher.SearchResult:
    return eventsearcher.SearchResult(events="[]", same_ts_at_start=[], same_ts_at_end=[])


class Eventsearcher(exports.Eventsearcher):
    def search_fs_events(self, filter: eventsearcher.FsEventSearch) -> eventsearcher.SearchResult:
        return nothing()

    def search_provider_events(self, filter: eventsearcher.ProviderEventSearch) -> eventsearcher.SearchResult:
        return nothing()

    def search_log_events(self, filter: eventsearcher.LogEventSearch) -> eventsearcher.SearchResult:
        return nothing()
