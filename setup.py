"""duban_archive — records system for government supervision work (督查督办)."""

from setuptools import find_packages, setup

requires = [
    "pyramid>=2.0,<3",
    "pyramid_tm>=2.5,<3",
    "pyramid_retry>=2.1,<3",
    "pyramid_zodbconn>=0.8,<1",
    "pyramid_chameleon>=0.3,<1",
    "ZODB>=6.0,<7",
    "zodburi>=3.0,<4",
    "ZEO>=6,<7",  # several processes on one database: web + `duban-archive indexer`
    "BTrees>=6.0,<7",
    "persistent>=6.0,<7",
    "transaction>=5.0,<6",
    "deform>=3.0,<4",
    "colander>=2.0,<3",
    "Whoosh==2.7.4",
    "rjieba>=0.2.2,<0.3",  # jieba-rs: jieba's segmentation, ~20x faster (catalog/analysis.py)
    "numpy>=2.2,<3",  # posting arrays and set-at-a-time query evaluation (catalog/postings.py, matching.py)
    "weasyprint>=70,<71",  # archive/render.py trims fixed costs inside 70's internals (render workers only)
    "gmssl>=3.2,<4",
    "argon2-cffi>=23.1,<26",
    "bagit>=1.8,<2",
    "lxml>=5,<7",  # archive/xsd (XML Schema of metadata, event log, EEP), archive/eep.py (C14N for SM2 signatures)
    "pikepdf>=9,<11",
    "pypdf>=5,<8",
    "pyHanko>=0.38,<0.39",  # archive/originals.py: signatures of signed PDF originals (四性检测 真实性)
    "openpyxl>=3.1,<4",
    "chinesecalendar>=1.9,<2",
    "filetype>=1.2,<2",
    "pillow>=10,<14",
    "waitress>=3.0,<4",
    # views/multipart.py: every multipart body, streaming (PushMultipartParser); replaces cgi.FieldStorage
    "multipart>=2.0.1,<3",
    "tomli>=2.0,<3; python_version < '3.11'",
    "python-docx>=1.1,<2",
    "graphviz>=0.20,<1",
    "tqdm>=4.66,<5",
    "babel>=2.14,<3",
    "hypatia>=0.5,<1",
]

tests_require = [
    "pytest>=8,<10",
    "pytest-xdist>=3.5,<4",
    "WebTest>=3.0,<4",
    "hypothesis>=6.100,<7",
    # tests/api/test_schemathesis.py: the app against its own OpenAPI description (WSGI, no server);
    # 4.32 is what it was written against (Config, openapi.from_wsgi, APIOperation.as_strategy)
    "schemathesis>=4.32,<5",
    "openapi-spec-validator>=0.7.1,<0.10",  # tests/api/test_openapi.py: the description is valid OpenAPI 3.0
    "aiosmtpd>=1.4,<2",
    "playwright>=1.45,<2",
    "ruff>=0.6",
    "mypy>=1.11,<3",  # `make test` type-checks src/duban_archive (configuration in pyproject.toml)
    "wheel>=0.43,<1",  # tests/scripts/test_packaging.py builds a wheel without build isolation
]

# several web processes (and machines) on one PostgreSQL database: storage/relstorage.py.
# psycopg2-binary, not RelStorage's own `postgresql` extra: that one pulls psycopg2, which
# compiles against libpq-dev; the binary wheel carries its libpq.
relstorage_require = [
    "RelStorage>=4.3,<5",
    "psycopg2-binary>=2.9.9,<3",
]
tests_require += relstorage_require  # tests/storage/test_relstorage.py runs a real PostgreSQL

setup(
    name="duban_archive",
    version="0.1.0",
    description="督查督办与立卷归档 — supervision items, deadlines and archival dossiers",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    package_dir={"": "src"},
    packages=find_packages("src"),
    include_package_data=True,
    package_data={
        "duban_archive": [
            "*/definitions/*.toml",
            "*/templates/*.pt",
            "*/templates/*/*.pt",
            "*/templates/*.css",
            "*/templates/*.html",
            "static/*",
            "static/*/*",
            "locale/*/LC_MESSAGES/*",
            "*/rules/*.toml",
            "*/boards/*.toml",
            "archive/xsd/*.xsd",
        ]
    },
    zip_safe=False,
    install_requires=requires,
    # bench/bench_search.py's reference column (tantivy-py); never needed to run the site
    extras_require={"test": tests_require, "relstorage": relstorage_require, "bench": ["tantivy>=0.22"]},
    entry_points={
        "paste.app_factory": ["main = duban_archive:main"],
        "paste.server_runner": ["main = duban_archive.scripts.serve:serve_paste"],
        "console_scripts": ["duban-archive = duban_archive.scripts.cli:main"],
        "pytest11": ["duban_archive = duban_archive.testing"],
    },
)
