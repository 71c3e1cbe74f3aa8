"""A mosaik_api_v3 simulator for tests: ``p_kw`` = 1.0 every 900 s; raises at ``fail_at_s``."""

import mosaik_api_v3

META = {
    "type": "time-based",
    "models": {"Source": {"public": True, "params": [], "attrs": ["p_kw"]}},
}


class FlakySim(mosaik_api_v3.Simulator):
    def __init__(self):
        super().__init__(META)
        self.fail_at_s = -1

    def init(self, sid, time_resolution=1.0, fail_at_s=-1):
        self.fail_at_s = fail_at_s
        return self.meta

    def create(self, num, model):
        return [{"eid": f"source_{k}", "type": "Source", "rel": []} for k in range(num)]

    def step(self, time, inputs, max_advance):
        if time == self.fail_at_s:
            raise ValueError(f"no data for t_s={time}")
        return time + 900

    def get_data(self, outputs):
        return {eid: {"p_kw": 1.0} for eid in outputs}
