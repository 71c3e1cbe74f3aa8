"""Controllers: the contract (``base``), the one mosaik adapter (``adapter``), lookup by name
(``registry``), and the built-in controllers (``demand_response``, ``islanding``)."""
