"""The shop's own words: its pages (FAQ, terms, refund policy, contact), the FAQ's questions,
its contact details, and the short announcements customers see on their dashboard.

Everything a customer reads is stored in both languages; `in_language()` picks the active
language's text and falls back to the other when staff filled in only one.
Texts are plain: rendered escaped, with paragraphs (`linebreaks`), never as HTML, so an admin
account taken over cannot plant a script on every customer's page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

FALLBACK = {"vi": "en", "en": "vi"}


def in_language(obj: models.Model, field: str, language: str | None = None) -> str:
    """`obj.<field>_<lang>` in the active language, else in the other one (never empty when
    either is filled in)."""
    language = (language or translation.get_language() or settings.LANGUAGE_CODE)[:2]
    if language not in FALLBACK:
        language = settings.LANGUAGE_CODE
    text = str(getattr(obj, f"{field}_{language}", "") or "")
    return text or str(getattr(obj, f"{field}_{FALLBACK[language]}", "") or "")


class Page(models.Model):
    """One of the shop's fixed pages; at most one row per kind."""

    class Kind(models.TextChoices):
        FAQ = "faq", _("FAQ")
        TERMS = "terms", _("Terms of service")
        REFUND = "refund", _("Refund policy")
        CONTACT = "contact", _("Contact")

    kind = models.CharField(_("page"), max_length=20, choices=Kind, unique=True)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    body_vi = models.TextField(
        _("text (Vietnamese)"),
        blank=True,
        help_text=_("Plain text; a blank line starts a paragraph."),
    )
    body_en = models.TextField(
        _("text (English)"), blank=True, help_text=_("Plain text; a blank line starts a paragraph.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("shop page")
        verbose_name_plural = _("shop pages")
        ordering = ["kind"]

    def __str__(self) -> str:
        return str(self.get_kind_display())

    @property
    def title(self) -> str:
        return in_language(self, "title") or str(self.get_kind_display())

    @property
    def body(self) -> str:
        return in_language(self, "body")


class FaqEntry(models.Model):
    """One question of the FAQ page, with its answer, in both languages."""

    question_vi = models.CharField(_("question (Vietnamese)"), max_length=300, blank=True)
    question_en = models.CharField(_("question (English)"), max_length=300, blank=True)
    answer_vi = models.TextField(_("answer (Vietnamese)"), blank=True)
    answer_en = models.TextField(_("answer (English)"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    published = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("FAQ question")
        verbose_name_plural = _("FAQ questions")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(question_vi="") | ~Q(question_en=""), name="faq_has_a_question"
            )
        ]

    def __str__(self) -> str:
        return self.question

    @property
    def question(self) -> str:
        return in_language(self, "question")

    @property
    def answer(self) -> str:
        return in_language(self, "answer")


class ContactDetails(models.Model):
    """The shop's one set of contact details (a single row, pk=1), shown on the contact page."""

    phone = models.CharField(_("phone"), max_length=30, blank=True)
    zalo_url = models.URLField(
        _("Zalo link"), blank=True, help_text=_("For example https://zalo.me/0901234567")
    )
    telegram_url = models.URLField(
        _("Telegram link"), blank=True, help_text=_("For example https://t.me/your_shop")
    )
    email = models.EmailField(_("e-mail"), blank=True)
    hours_vi = models.CharField(_("opening hours (Vietnamese)"), max_length=200, blank=True)
    hours_en = models.CharField(_("opening hours (English)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("contact details")
        verbose_name_plural = _("contact details")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="contact_details_single_row")]

    def __str__(self) -> str:
        return str(_("Contact details"))

    @property
    def hours(self) -> str:
        return in_language(self, "hours")


class Announcement(models.Model):
    """A short notice from staff (new services, price changes) on every customer's dashboard,
    from `starts_at` until `ends_at` (if any), or until the customer dismisses it."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        SUCCESS = "success", _("Good news")
        WARNING = "warning", _("Warning")

    title_vi = models.CharField(_("title (Vietnamese)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    body_vi = models.TextField(_("text (Vietnamese)"), max_length=2000, blank=True)
    body_en = models.TextField(_("text (English)"), max_length=2000, blank=True)
    level = models.CharField(_("kind"), max_length=10, choices=Level, default=Level.INFO)
    published = models.BooleanField(_("published"), default=True)
    starts_at = models.DateTimeField(_("shown from"))
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(title_vi="") | ~Q(title_en=""), name="announcement_has_a_title"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="announcement_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return in_language(self, "title")

    @property
    def body(self) -> str:
        return in_language(self, "body")


class AnnouncementDismissal(models.Model):
    """A customer closed an announcement: it is not shown to them again, on any device."""

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="dismissals"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(_("dismissed"), auto_now_add=True)

    class Meta:
        verbose_name = _("dismissed announcement")
        verbose_name_plural = _("dismissed announcements")
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "user"], name="announcement_dismissed_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} / {self.user_id}"
