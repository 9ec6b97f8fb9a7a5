"""neurotools app entry point: ``streamlit run app.py`` (or ``neurotools app``).

Builds the navigation from the page files in ``pages/``: Load, Explore, Compare, Jobs, then each analysis
page that exists (``pages/<package>.py``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "pages"

#: Analysis pages, in menu order: (file stem, title, icon).
ANALYSIS_PAGES = (
    ("connectome", "Connectome", ":material/hub:"),
    ("biclustering", "Bi-clustering", ":material/grid_view:"),
    ("hmmglm", "HMM-GLM", ":material/timeline:"),
    ("neuroformer", "Neuroformer", ":material/psychology:"),
)


def main() -> None:
    """Configure the page and run the navigation (the page the user chose)."""
    st.set_page_config(page_title="neurotools", page_icon=":material/neurology:", layout="wide")

    data_pages = [
        st.Page("pages/load.py", title="Load", icon=":material/upload_file:", default=True),
        st.Page("pages/explore.py", title="Explore", icon=":material/monitoring:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page("pages/jobs.py", title="Jobs", icon=":material/pending_actions:"),
    ]
    analysis_pages = [
        st.Page(f"pages/{stem}.py", title=title, icon=icon)
        for stem, title, icon in ANALYSIS_PAGES
        if (PAGES_DIR / f"{stem}.py").exists()
    ]
    sections = {"Data": data_pages}
    if analysis_pages:
        sections["Analyses"] = analysis_pages
    navigation = st.navigation(sections)
    # a page first opened without this navigation (pages/_shared.py) comes back here with ?page=
    wanted = st.query_params.get("page")
    if wanted is not None:
        rest = {k: v for k, v in st.query_params.to_dict().items() if k != "page"}
        for page in data_pages + analysis_pages:
            if page.url_path == wanted:
                st.switch_page(page, query_params=rest)
        st.query_params.clear()
        st.query_params.update(rest)
    navigation.run()


# Streamlit runs this file as __main__. Worker processes that jobs spawn re-import the main
# script as __mp_main__: they must not build the UI.
if __name__ == "__main__":
    main()
