"""``python -m search.results --study NAME``: a study's best trials (``analysis.summary``).

Run it, do not import it: as an attribute of the package, ``search.results`` is the API's
trials-table function, which importing this module would hide.
"""

if __name__ == "__main__":
    from analysis.summary import main

    raise SystemExit(main())
