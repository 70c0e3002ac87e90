"""The words the customer's app's frame and several of its pages share (Chinese first, English second)."""

from __future__ import annotations

from api.web import i18n

WORDS = {
    "m.app": ("信用租", "Credit Rent"),
    "m.back": ("返回", "Back"),
    "m.tab.home": ("首页", "Home"),
    "m.tab.orders": ("订单", "Orders"),
    "m.tab.help": ("客服", "Help"),
    "m.tab.me": ("我的", "Me"),
    "m.tabs": ("主菜单", "Main menu"),
    "m.other_language": ("English", "中文"),
    "m.error.not_found": ("页面不存在", "Not found"),
    "m.error.not_found_detail": (
        "没有找到您要的内容，它可能不存在或不属于您。",
        "There is nothing here, or it is not yours.",
    ),
    "m.error.expired": ("页面已过期", "This page has expired"),
    "m.error.csrf": ("页面已过期，请返回刷新后再试。", "The page has expired: go back, reload it and try again."),
    "m.error.unexpected": ("出错了", "Something went wrong"),
    "m.error.unexpected_detail": (
        "服务暂时不可用，请稍后再试；您的操作没有生效。",
        "The service failed; nothing was changed. Please try again.",
    ),
    "m.error.refused": ("无法完成", "Not possible"),
    "m.error.invalid": ("填写有误", "Please check what you entered"),
    "m.error.home": ("回到首页", "Go to the home page"),
    "m.flash.logged_out": ("您已退出登录", "You have logged out"),
    "m.flash.logged_in": ("登录成功", "You are logged in"),
    "m.per_month": ("/月", "/month"),
    "m.per_day": ("/天", "/day"),
    "m.months": ("{months} 个月", "{months} months"),
    "m.days": ("{days} 天", "{days} days"),
    "m.login_first": ("登录", "Log in"),
}
i18n.add(WORDS)
