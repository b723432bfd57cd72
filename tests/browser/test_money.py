"""Money in: a customer asks for a top-up by bank transfer, and staff credit it in the admin,
both by approving the transfer and by crediting the wallet by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from billing.models import EntryKind, LedgerEntry, TopUpRequest, Wallet
from tests.factories import make_customer, make_staff

from .conftest import PASSWORD, money_text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.axes,
    pytest.mark.vietnamese,  # the shop's real default language, as its customers see it
    pytest.mark.django_db(transaction=True),
]


def test_staff_approve_a_top_up_and_credit_a_wallet_in_the_admin(
    open_tab: Any, sandbox: Any
) -> None:
    customer = make_customer(username="thu_trang", email="tt@example.com", password=PASSWORD)
    make_staff(username="quanly", email="ql@example.com", password=PASSWORD, superuser=True)

    # The customer asks for a top-up and gets the transfer details with a VietQR code.
    shop = open_tab("customer")
    page = shop.page
    shop.login("thu_trang")
    shop.goto("/topup/", "topup")
    page.fill("input[name=amount]", "500.000")
    with page.expect_navigation():
        page.click("main form[action='/topup/'] button[type=submit]")
    shop.snap("topup-transfer-details")
    topup = TopUpRequest.objects.get(user=customer)
    assert topup.amount == Decimal("500000")
    assert shop.text("[data-testid=topup-reference]") == topup.reference
    qr = page.locator("[data-testid=vietqr]")
    qr.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", qr.element_handle())

    # Staff log in through the admin's own form and approve it on the request's own page,
    # with the amount the bank statement shows and a confirmation.
    admin = open_tab("staff")
    admin.admin_login("quanly")
    assert admin.page.is_visible("[data-testid=admin-staff-dashboard]")
    admin.goto(f"/{settings.ADMIN_URL}billing/topuprequest/{topup.pk}/approve/", "topup-approve")
    admin.page.check("#id_confirm")
    with admin.page.expect_navigation():
        admin.page.click("#content-main input[type=submit]")
    admin.snap("topup-approved")
    assert admin.page.is_visible("ul.messagelist li.success")
    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.APPROVED

    # ...and credit the same wallet by hand, with a reason, through "Credit or debit".
    wallet = Wallet.objects.get(user=customer)
    admin.goto(f"/{settings.ADMIN_URL}billing/wallet/{wallet.pk}/adjust/", "wallet-adjust")
    admin.page.fill("#id_amount", "200000")
    admin.page.fill("#id_reason", "Khuyến mãi khách hàng mới")
    with admin.page.expect_navigation():
        admin.page.click("#content-main input[type=submit]")
    admin.snap("wallet-credited")
    assert admin.page.is_visible("ul.messagelist li.success")

    # The customer sees both on the transactions page, and the new balance in the topbar.
    shop.goto("/transactions/", "transactions")
    kinds = page.locator("[data-testid=entry] .badge").all_text_contents()
    assert len(kinds) == 2
    assert page.locator("[data-testid=entry] .badge.kind-deposit").count() == 1
    assert page.locator("[data-testid=entry] .badge.kind-adjustment").count() == 1
    assert shop.text("[data-testid=balance]") == money_text(Decimal("700000"))
    assert LedgerEntry.objects.filter(
        wallet=wallet, kind=EntryKind.ADJUSTMENT, created_by__username="quanly"
    ).exists()

    shop.goto("/topup/", "topup-history")
    assert page.locator("[data-testid=past-topup]").count() == 1
    assert page.locator("[data-testid=pending-topup]").count() == 0


def test_the_top_up_page_turns_credited_by_itself_when_the_bank_notifies(
    open_tab: Any, sandbox: Any, settings: Any
) -> None:
    import json

    import requests

    settings.SEPAY_WEBHOOK_KEY = "browser-sepay-key"
    customer = make_customer(username="bao_ngoc", email="bn@example.com", password=PASSWORD)

    # The customer asks for 200.000 ₫ and keeps the transfer page open.
    shop = open_tab("customer", paused_clock=True)
    page = shop.page
    shop.login("bao_ngoc")
    shop.goto("/topup/", "topup")
    assert shop.text("[data-testid=deposit-code]").startswith(settings.DEPOSIT_CODE_PREFIX)
    page.fill("input[name=amount]", "200.000")
    with page.expect_navigation():
        page.click("main form[action='/topup/'] button[type=submit]")
    topup = TopUpRequest.objects.get(user=customer)
    assert shop.text("[data-testid=topup-state]") == "Chờ xử lý"
    page.evaluate("() => { window.__samePage = true; }")

    # The bank tells SePay, SePay tells the shop (the customer sent 10.000 ₫ less).
    response = requests.post(
        f"{shop.base_url}/webhooks/sepay/",
        data=json.dumps(
            {
                "id": 777001,
                "transferType": "in",
                "transferAmount": 190000,
                "content": f"{topup.reference.lower()} chuyen tien",
                "referenceCode": "FT26337770001",
                "description": "",
            }
        ),
        headers={"Authorization": "Apikey browser-sepay-key", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200

    # The page's next poll shows it credited, without a reload.
    page.clock.run_for(5_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=topup-state]').textContent.includes('Đã cộng')"
    )
    shop.snap("topup-credited-by-itself")
    assert page.evaluate("() => window.__samePage === true")
    assert shop.text("[data-testid=topup-received]") == money_text(Decimal("190000"))
    assert "10.000" in shop.text("[data-topup-difference]")
    assert page.locator("[data-topup-pay]").is_hidden()
    assert shop.text("[data-testid=balance]") == money_text(Decimal("190000"))


def test_money_sent_with_the_deposit_code_shows_on_the_top_up_page_by_itself(
    open_tab: Any, sandbox: Any, settings: Any
) -> None:
    import json

    import requests

    settings.SEPAY_WEBHOOK_KEY = "browser-sepay-key"
    make_customer(username="minh_chau", email="mc@example.com", password=PASSWORD)
    shop = open_tab("customer", paused_clock=True)
    page = shop.page
    shop.login("minh_chau")
    shop.goto("/topup/", "topup")
    code = shop.text("[data-testid=deposit-code]")
    assert page.locator("[data-testid=deposit-arrived]").is_hidden()

    # A transfer of any amount, at any time, with the permanent code in the message.
    requests.post(
        f"{shop.base_url}/webhooks/sepay/",
        data=json.dumps(
            {
                "id": 777002,
                "transferType": "in",
                "transferAmount": 350000,
                "content": f"MBVCB.8812.{code}.CT tu 0123456789 MINH CHAU",
                "referenceCode": "FT26337770002",
            }
        ),
        headers={"Authorization": "Apikey browser-sepay-key", "Content-Type": "application/json"},
        timeout=10,
    ).raise_for_status()

    page.clock.run_for(5_000)
    page.locator("[data-testid=deposit-arrived]").wait_for(state="visible")
    shop.snap("deposit-code-credited-by-itself")
    assert "350.000" in shop.text("[data-testid=deposit-arrived]")
    assert shop.text("[data-testid=balance]") == money_text(Decimal("350000"))
