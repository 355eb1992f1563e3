"""Rules: each module holds a rule's configuration, parameters, composition and ``SPEC``
(``registry.RuleSpec``)."""
